FLASK_APP=hello_form
FLASK_DEBUG=true

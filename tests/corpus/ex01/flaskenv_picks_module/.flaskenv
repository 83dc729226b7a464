FLASK_APP=hello_final.py
FLASK_DEBUG=1

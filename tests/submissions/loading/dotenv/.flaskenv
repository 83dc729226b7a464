FLASK_APP=hello.py
FLASK_DEBUG=1
GREETING=Hello from .flaskenv

FLASK_APP=manage.py

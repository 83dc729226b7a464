from flask import Flask

admin = Flask("admin")  # not the app to grade: .flaskenv names hello.py

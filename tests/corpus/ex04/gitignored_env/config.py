import os


class Config:
    # the real key lives in .env, which is in .gitignore
    SECRET_KEY = os.environ['SECRET_KEY']
    WTF_CSRF_ENABLED = True

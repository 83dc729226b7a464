import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or "hard to guess string"


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True


config = {"development": DevelopmentConfig, "testing": TestingConfig,
          "default": DevelopmentConfig}

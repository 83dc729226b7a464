SECRET_KEY = "dev-only-secret"
SQLALCHEMY_DATABASE_URI = "sqlite:///users.sqlite"

GREETING = "Hello, Flask World!"
SECRET_KEY = "from the instance folder"

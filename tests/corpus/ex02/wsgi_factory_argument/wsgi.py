from greetings import create_app

application = create_app("production")

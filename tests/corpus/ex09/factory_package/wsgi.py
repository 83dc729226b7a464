from todo import create_app

app = create_app()

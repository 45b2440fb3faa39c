"""Entry point: build the app once and expose `server` for gunicorn; `python app.py` serves it."""

from pace_dash.app import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    settings = server.extensions["pace_dash"].settings
    app.run(host=settings.host, port=settings.port, debug=settings.debug)

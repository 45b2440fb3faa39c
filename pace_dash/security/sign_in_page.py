"""The sign-in page: plain server-rendered HTML, so it works before any of Dash's scripts may load."""

from __future__ import annotations

import pandas as pd
from flask import render_template_string

from pace_dash.security.access import ROLE_LABELS
from pace_dash.store.demo import DEMO_PASSWORD

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · PACE child timelines</title>
  <link rel="stylesheet" href="/assets/00-bootstrap-5.3.8.min.css">
  <link rel="stylesheet" href="/assets/pace.css">
</head>
<body class="bg-light">
<main class="container py-5" style="max-width: 34rem">
  <h1 class="h3 mb-3">PACE child timelines</h1>
  <p class="text-muted">Sign in to see the journeys of the children your council looks after.</p>
  {% if message %}
  <div class="alert alert-danger" role="alert" id="sign-in-message">{{ message }}</div>
  {% endif %}
  <form method="post" action="/login" class="card card-body mb-4" id="sign-in-form">
    <input type="hidden" name="csrf_token" value="{{ form_token }}">
    <input type="hidden" name="next" value="{{ target }}">
    <label for="username" class="form-label">Username</label>
    <input id="username" name="username" class="form-control mb-3" autocomplete="username" required autofocus>
    <label for="password" class="form-label">Password</label>
    <input id="password" name="password" type="password" class="form-control mb-3"
           autocomplete="current-password" required>
    <button type="submit" class="btn btn-primary" id="sign-in-button">Sign in</button>
  </form>
  {% if demo %}
  <section aria-labelledby="demo-heading" id="demo-accounts">
    <h2 class="h5" id="demo-heading">Demo accounts</h2>
    <p class="small">This is the demo database of fictional children. Every demo account's password is
      <code>{{ demo_password }}</code>.</p>
    <table class="table table-sm">
      <thead>
        <tr><th scope="col">Username</th><th scope="col">Role</th><th scope="col">Authorities</th></tr>
      </thead>
      <tbody>
      {% for account in demo %}
        <tr>
          <td><code>{{ account.username }}</code></td><td>{{ account.role }}</td>
          <td>{{ account.authorities }}</td>
        </tr>
      {% endfor %}
      </tbody>
    </table>
  </section>
  {% endif %}
</main>
</body>
</html>"""


def sign_in_page(form_token: str, target: str, message: str | None, demo_accounts: pd.DataFrame) -> str:
    """Render the sign-in form, with a message after a refused attempt and the demo accounts if any."""
    demo = [
        {"username": row.username, "role": ROLE_LABELS[row.role], "authorities": row.authorities}
        for row in demo_accounts.itertuples()
    ]
    return render_template_string(
        TEMPLATE,
        form_token=form_token,
        target=target,
        message=message,
        demo=demo,
        demo_password=DEMO_PASSWORD,
    )

"""The staff inbox as a browser-less client uses it: log in, read a form's CSRF token."""
from __future__ import annotations

import re

import requests

PASSWORD = "correct horse battery"


def csrf(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def log_in(site, email="ann@stl.example", password=PASSWORD, next_url="/inbox/leads"):
    browser = requests.Session()
    form = browser.get(f"{site.url}/inbox/login")
    answer = browser.post(f"{site.url}/inbox/login", data={"email": email, "password": password, "next": next_url,
                                                           "csrf_token": csrf(form)})
    return browser, answer

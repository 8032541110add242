"""Medius, by process: `core` is the shared domain every process uses (no Rasa, no web framework,
no database); `store` the database; `leads` and `staff` what is kept and worked on; `web` the public
web server; `rasa` what runs inside the Rasa process; `ops` the command line and process topology.
The action server's actions live in the top-level `actions/` package, Rasa's custom component in
`components/`. pyproject.toml's import-linter contracts keep each layer from importing upward."""

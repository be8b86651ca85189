"""The agent's web face: REST API, web UI, authentication and roles.

`context.ServerContext` is everything a request may use: the store and the
agent's actions (`AgentActions`). `auth` decides who is asking and what they
may do; `api` is the JSON API under ``/api/v1``; `ui` renders the pages. The
agent's own routes (health, metrics, webhooks) live in `gitward.agent.http`;
`gitward.agent.process` mounts all of them on one server.
"""

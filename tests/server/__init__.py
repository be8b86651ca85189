"""Tests of the web face: REST API, authentication and roles."""

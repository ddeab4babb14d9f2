"""eKuiper's REST API on Starlette (see ../shared/spec/restapi.md)."""

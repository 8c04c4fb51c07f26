"""Write side of the HF API: repo CRUD, preupload, commit, branches, tags, validate-yaml.

Views parse, authorize through `repos.gate`, call one service or selector and
serialize; routes are in `repos.api.routes_write`.
"""

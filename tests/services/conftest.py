from tests.write_fixtures import repo, upload_lfs  # noqa: F401

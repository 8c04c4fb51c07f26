"""Names the site's own routes use can't become user or organization namespaces."""
import pytest

from accounts.services.orgs import org_create
from accounts.services.users import user_create
from hub.exceptions import BadRequest


@pytest.mark.parametrize("name", ["models", "api", "Settings", "organizations"])
def test_reserved_names_are_refused_for_users_and_orgs(db, alice, name):
    with pytest.raises(BadRequest, match="reserved"):
        user_create(username=name, password="x-Pa55word!")
    with pytest.raises(BadRequest, match="reserved"):
        org_create(user=alice, name=name)

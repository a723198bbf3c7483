import pytest
from django.db import IntegrityError

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_initials_that_the_mar_legend_cannot_print():
    with pytest.raises(IntegrityError, match="user_initials_format"):
        UserFactory(initials="j.d.")


def test_it_refuses_an_unknown_role():
    with pytest.raises(IntegrityError, match="user_role_valid"):
        UserFactory(role="janitor")

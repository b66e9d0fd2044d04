"""``manage.py worker_token [--rotate]``: the API token that workers download uploaded models with.

Kubernetes worker pods get it from the Secret key ``model-token`` as ``EI_MODEL_TOKEN``. Only the key goes
to stdout, so ``EI_MODEL_TOKEN=$(python manage.py worker_token)`` works.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from controlplane.core.permissions import MODEL_DOWNLOADERS

WORKER_USERNAME = "ei-worker"


def worker_token_issue(*, rotate: bool = False) -> str:
    """The key of the worker user's token: made if missing, replaced with ``rotate``.

    Every worker pod holds this token, so each call also puts the user back to downloading model files
    only: active, no password to log in with, not staff, no permissions, in the model-downloaders group
    alone (which keeps it from reading the rest of the API and from watching streams).
    """
    with transaction.atomic():
        user, _ = get_user_model().objects.get_or_create(username=WORKER_USERNAME)
        user.is_active, user.is_staff, user.is_superuser = True, False, False
        if user.has_usable_password():
            user.set_unusable_password()
        user.save()
        user.user_permissions.clear()
        user.groups.set([Group.objects.get_or_create(name=MODEL_DOWNLOADERS)[0]])
        if rotate:
            Token.objects.filter(user=user).delete()
        return Token.objects.get_or_create(user=user)[0].key


class Command(BaseCommand):
    help = (
        f"Print the API token of the user {WORKER_USERNAME!r}, which workers download models with "
        "(EI_MODEL_TOKEN) and which may do nothing else; make the user and the token if missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rotate", action="store_true", help="replace the token: the old one stops working at once"
        )

    def handle(self, *args, rotate, **options):
        self.stdout.write(worker_token_issue(rotate=rotate))

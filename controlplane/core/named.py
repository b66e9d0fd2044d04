"""The base of the records that users address by name (streams, inference services, scaling policies)."""

from django.db import models


class NamedRecord(models.Model):
    """Listed by name, shown by name, with when it was made and last changed. Subclasses declare ``name``
    with the rule their name must follow."""

    name: models.Field
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

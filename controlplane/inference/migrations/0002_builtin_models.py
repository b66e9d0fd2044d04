"""Register the models that ship with the worker (builtin:face, builtin:people), pending validation."""

from django.db import migrations

BUILTINS = [
    {
        "name": "face", "builtin": "builtin:face", "framework": "tflite", "task": "face", "labels": ["face"],
        "output_family": "blazeface",
    },
    {
        "name": "people", "builtin": "builtin:people", "framework": "tf", "task": "people",
        "labels": ["background", "person"], "output_family": "tf_od",
    },
]


def register(apps, schema_editor):
    InferenceModel = apps.get_model("inference", "InferenceModel")
    for fields in BUILTINS:
        InferenceModel.objects.get_or_create(
            name=fields["name"], version="1", defaults={**fields, "precision": "FP32", "status": "pending"}
        )


def unregister(apps, schema_editor):
    InferenceModel = apps.get_model("inference", "InferenceModel")
    InferenceModel.objects.filter(builtin__in=[fields["builtin"] for fields in BUILTINS], services=None).delete()


class Migration(migrations.Migration):
    dependencies = [("inference", "0001_initial")]

    operations = [migrations.RunPython(register, unregister)]

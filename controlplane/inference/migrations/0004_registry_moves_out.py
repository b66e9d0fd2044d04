"""The model registry moved to its own app (``registry.0001_initial``): the services' foreign key now points
there, and the model leaves this app's state. The table and its rows stay as they are; the content type (and
so every permission granted on models) follows the model to its new app label."""

import django.db.models.deletion
from django.db import migrations, models


def content_type_to_registry(apps, schema_editor):
    _relabel(apps, "inference", "registry")


def content_type_to_inference(apps, schema_editor):
    _relabel(apps, "registry", "inference")


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="inferencemodel").exists():
        ContentType.objects.filter(app_label=old, model="inferencemodel").update(app_label=new)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('inference', '0003_fleet_status'),
        ('registry', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='inferenceservice',
                    name='model',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='services', to='registry.inferencemodel'),
                ),
                migrations.DeleteModel(name='InferenceModel'),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_registry, content_type_to_inference),
    ]

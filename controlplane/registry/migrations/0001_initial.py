"""The model registry becomes its own app. Its table stays where the inference app made it
(``inference_inferencemodel``): this migration only tells Django's state that the model lives here now;
``inference.0004_registry_moves_out`` takes it out of the inference app's state. No row is touched."""

import controlplane.registry.models
import django.core.validators
import re
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('inference', '0003_fleet_status'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='InferenceModel',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=64, validators=[django.core.validators.RegexValidator(re.compile('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'), "Use letters, digits, '_', '.' or '-', starting with a letter or digit, at most 64 characters.")])),
                    ('version', models.CharField(default='1', max_length=32, validators=[django.core.validators.RegexValidator(re.compile('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'), "Use letters, digits, '_', '.' or '-', starting with a letter or digit, at most 64 characters.")])),
                    ('task', models.CharField(default='detection', help_text='What it finds, e.g. face, people, vehicle.', max_length=32)),
                    ('labels', models.JSONField(blank=True, default=list, help_text='Label names by class id.')),
                    ('framework', models.CharField(choices=[('ir', 'OpenVINO IR'), ('onnx', 'ONNX'), ('tflite', 'TensorFlow Lite'), ('tf', 'TensorFlow frozen graph')], max_length=8)),
                    ('precision', models.CharField(choices=[('FP32', 'FP32'), ('FP16', 'FP16'), ('INT8', 'INT8')], default='FP32', max_length=4)),
                    ('output_family', models.CharField(choices=controlplane.registry.models.output_family_choices, default='auto', max_length=16)),
                    ('builtin', models.CharField(blank=True, help_text='builtin:face or builtin:people: shipped with the worker, no files.', max_length=32)),
                    ('file', models.FileField(blank=True, max_length=512, upload_to=controlplane.registry.models.model_upload_path)),
                    ('file_sha256', models.CharField(blank=True, max_length=64)),
                    ('weights', models.FileField(blank=True, help_text='The .bin of an IR model.', max_length=512, upload_to=controlplane.registry.models.model_upload_path)),
                    ('weights_sha256', models.CharField(blank=True, max_length=64)),
                    ('input_shape', models.JSONField(blank=True, null=True)),
                    ('status', models.CharField(choices=[('pending', 'Pending validation'), ('validating', 'Validating'), ('ready', 'Ready'), ('failed', 'Failed')], default='pending', max_length=16)),
                    ('status_message', models.TextField(blank=True)),
                    ('measured_fps', models.FloatField(blank=True, help_text="Throughput measured on this machine's CPU.", null=True)),
                    ('validated_at', models.DateTimeField(blank=True, null=True)),
                    ('created', models.DateTimeField(auto_now_add=True)),
                    ('updated', models.DateTimeField(auto_now=True)),
                ],
                options={
                    'db_table': 'inference_inferencemodel',
                    'ordering': ['name', 'version'],
                    'constraints': [models.UniqueConstraint(fields=('name', 'version'), name='model_name_version_unique')],
                },
            ),
            ],
            database_operations=[],
        ),
    ]

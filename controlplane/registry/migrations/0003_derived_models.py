"""Models made from other models (INT8 quantization): where each came from, what it was calibrated on, and
how it measured against its parent. All nullable: uploads and built-ins have none of them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_builtin_vehicles")]

    operations = [
        migrations.AddField(
            model_name="inferencemodel",
            name="derived_from",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="derived",
                to="registry.inferencemodel",
                help_text="The model this one was made from (INT8 quantization of it); null for uploads and built-ins.",
            ),
        ),
        migrations.AddField(
            model_name="inferencemodel",
            name="calibration",
            field=models.JSONField(
                blank=True, null=True,
                help_text='What a quantized model was calibrated on: {"source": "stream:<name>" or "images", "frames": n}.',
            ),
        ),
        migrations.AddField(
            model_name="inferencemodel",
            name="speedup",
            field=models.FloatField(
                blank=True, null=True,
                help_text="Throughput of this model over its parent's, both measured on this machine in the same run "
                "with the same settings (1.6 = 1.6x faster); null until measured.",
            ),
        ),
        migrations.AddField(
            model_name="inferencemodel",
            name="agreement",
            field=models.JSONField(
                blank=True, null=True,
                help_text="How far this model's detections agree with its parent's on frames held out from calibration "
                "(matched by label and IoU >= 0.5, the parent as the reference): precision, recall, f1, "
                "mean_score_shift, frames, fp32_fps, int8_fps; null until measured.",
            ),
        ),
    ]

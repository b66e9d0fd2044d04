"""Register builtin:vehicles, the COCO SSD MobileNet v2 shipped with the worker, pending validation.

Its label table is the model's own class ids: column 0 is background, column k is COCO id k - 1
(``inference_worker/models/coco_ssd_mobilenet_v2/coco_labels.txt``; ids COCO never used are named
``unused-<id>``). The model is quantized already, hence INT8.
"""

from django.db import migrations

COCO = [
    "background", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "unused-11", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "unused-25", "backpack", "umbrella",
    "unused-28", "unused-29", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "unused-44",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli",
    "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "unused-65",
    "dining table", "unused-67", "unused-68", "toilet", "unused-70", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "unused-82", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
]
VEHICLES = {
    "name": "vehicles", "builtin": "builtin:vehicles", "framework": "tflite", "task": "vehicles",
    "labels": COCO, "output_family": "ssd_anchors", "precision": "INT8", "status": "pending",
}


def register(apps, schema_editor):
    InferenceModel = apps.get_model("registry", "InferenceModel")
    InferenceModel.objects.get_or_create(name=VEHICLES["name"], version="1", defaults=VEHICLES)


def unregister(apps, schema_editor):
    InferenceModel = apps.get_model("registry", "InferenceModel")
    InferenceModel.objects.filter(builtin=VEHICLES["builtin"], services=None).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(register, unregister)]

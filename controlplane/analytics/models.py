"""What the analytics stage keeps: one event per tracked object, counts per time bucket, and each stream's
checkpoint (written in the same transaction as its events, so a restart neither loses nor repeats one).

Streams are named, not referenced: history outlives a deleted stream, and the hot tables need no join.
"""

from django.db import models


def snapshot_path(event: "Event", filename: str) -> str:
    return f"snapshots/{event.stream}/{event.first_seen:%Y/%m/%d}/{filename}"


class Event(models.Model):
    """One tracked object: from the first result that saw it to the last."""

    id = models.BigAutoField(primary_key=True)
    stream = models.CharField(max_length=64)
    queue = models.CharField(max_length=64)
    label = models.CharField(max_length=64)
    track = models.PositiveBigIntegerField(help_text="The track number the live view showed (per stream and queue).")
    first_seen = models.DateTimeField(help_text="Capture time of the first frame it was seen in.")
    last_seen = models.DateTimeField(help_text="Capture time of the last frame it was seen in.")
    first_seq = models.PositiveBigIntegerField()
    last_seq = models.PositiveBigIntegerField()
    frames = models.PositiveIntegerField(help_text="Results it was seen in.")
    best_score = models.FloatField()
    best_box = models.JSONField(help_text="[x0, y0, x1, y1] of the best-scoring sighting, 0..1 of the frame.")
    path = models.JSONField(default=list, help_text="Its box centre over time, simplified: [[seconds from first seen, x, y], ...].")
    snapshot = models.FileField(upload_to=snapshot_path, max_length=255, blank=True,
                                help_text="The frame of its best score, the JPEG as the worker received it.")

    class Meta:
        ordering = ["-first_seen", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "queue", "track", "first_seen"], name="event_once_per_track"),
        ]
        indexes = [
            models.Index(fields=["stream", "-first_seen", "-id"], name="event_stream_time"),
            models.Index(fields=["-first_seen", "-id"], name="event_time"),
            models.Index(fields=["label", "-first_seen"], name="event_label_time"),
            models.Index(fields=["last_seen"], name="event_last_seen"),  # retention's purge
        ]

    def __str__(self):
        return f"{self.stream}/{self.queue} {self.label} #{self.track}"


class Bucket(models.TextChoices):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class EventCount(models.Model):
    """Distinct objects of a label on a stream whose sightings overlap a bucket (a minute, hour or day)."""

    stream = models.CharField(max_length=64)
    label = models.CharField(max_length=64)
    bucket = models.CharField(max_length=8, choices=Bucket.choices)
    start = models.DateTimeField()
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "label", "bucket", "start"], name="count_once_per_bucket"),
        ]
        indexes = [models.Index(fields=["stream", "bucket", "start"], name="count_stream_bucket_time")]


class Checkpoint(models.Model):
    """Where a stream's analysis stands: the last result whose events are written, and the next track number."""

    stream = models.CharField(max_length=64, unique=True)
    cursor = models.CharField(max_length=48, help_text="ID of the last result handled in ei:results:<stream>.")
    next_track = models.JSONField(default=dict, help_text="{queue: the next track number}")
    late = models.PositiveBigIntegerField(default=0, help_text="Results that came after the reorder window had passed them.")
    malformed = models.PositiveBigIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

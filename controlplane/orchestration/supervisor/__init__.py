"""The local backend's process runner (``python manage.py supervise``): the units the reconciler put in
Redis become worker and producer processes on this machine.

Split at the line between decisions and side effects: ``pools`` decides which processes run (with the
starting of one injected), ``sampling`` reads a pool's load for the autoscaler, ``store`` is everything
the supervisor reads and writes in Redis, ``processes`` starts and stops real children, and ``loop``
puts them together, one step a second or whenever the reconciler announces a change.
"""

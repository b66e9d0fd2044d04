"""What every app of the control plane may use, and which imports no app: the fleet-status base of the
records, the Redis client, name rules, the write helpers, the admin and viewset bases, permissions, and the
way a record asks for a reconcile (:mod:`controlplane.core.reconcile`)."""

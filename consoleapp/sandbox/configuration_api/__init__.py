"""LiveChat's Configuration API: the webhook methods, with LiveChat's rules, limits and errors.

``views`` routes ``/sandbox/api/<version>/configuration/action/<method>`` to ``webhooks``;
``faults`` makes those calls slow or failing on demand.
"""

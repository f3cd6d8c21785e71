"""LiveChat's accounts server and Developer Console: organizations, accounts, apps' credentials.

``views`` serves the sign-in and consent page, ``/v2/token``, ``/v2/info`` and revocation;
``oauth`` holds their rules; ``provisioning`` stands in for the Developer Console.
"""

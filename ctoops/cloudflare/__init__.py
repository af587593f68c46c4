"""Cloudflare as a source of the worker's 429/5xx rates, without log files (runbook step 5).

* ``api``: the v4 REST client over ``ctoops.http`` (the envelope read in one place);
* ``settings``/``target``: token, account, zone and script, configured or looked up;
* ``observability``: Workers Logs' telemetry query (server-side counts, 7 days);
* ``graphql``: the zone's ``httpRequestsAdaptiveGroups`` (edge counts, plan-dependent history);
* ``counts``: their rows as the trends engine's weighted record tables;
* ``tail``: the live tail (REST create/delete, the ``trace-v1`` WebSocket, reconnects);
* ``sources``: the choice between them for ``errors trend``.

Nothing here is imported by ``ctoops --help``; httpx and websockets load when used.
"""

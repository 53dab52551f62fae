"""The test kit: every helper the test files share, so that no test module imports another.
``tests/conftest.py`` holds only fixtures and pytest hooks, built from these.

Basics
- ``constants``: ``NOW`` (the default moment, always passed in), ``ZONE``, ``TEST_SECRET``.
- ``personas``: ``PERSONAS`` (admin, alice the supervisor, bob the inspector, carol the crew,
  dave the viewer), their ``PASSWORD``, ``create_personas``.
- ``database``: ``on_postgres``, migrating, ``database_state`` (to prove a refusal wrote nothing).
- ``servers``: ``free_port``, ``SmtpServer`` (a real SMTP server on loopback).
- ``clients``: ``client_for_app``, ``csrf_token``, ``post_form``, ``log_in``, ``follow``; ``Api``
  (the JSON API with the CSRF header), ``error_keys`` and ``mentions`` (its error bodies).
- ``pages``: ``Page`` (a form page as a person sees it), ``english``.
- ``routes``: ``app_routes``, ``is_staff_route``, ``FRAMEWORK_PREFIXES``.
- ``page_checks``: ``page_problems`` (security headers, inline scripts).
- ``media``: image and file bytes (``png_bytes``, ``png``, ``jpeg``, ``jpeg_with_metadata``),
  ``REFUSED`` uploads, ``files_under``.

Factories, by domain
- ``assets``: ``make_site``, ``make_asset``, ``make_component``.
- ``tickets``: ``make_ticket``, ``path_to``, ``transition_data``, ``drive_to``, audit helpers,
  ``attach``, ``seed_tickets``.
- ``inspections``: ``make_team``, ``make_schedule``, ``footbridge``, ``plan``/``record``/``submit``/
  ``finalise``, ``graded``.
- ``closures``: ``closure_in``, ``make_closure``, ``drive_ticket``, ``link``, ``inspect``,
  ``notices``, ``events``, ``repaired`` (the story up to the reopening gate).
- ``reports``: ``make_boardwalk``, ``make_report``, ``report_row``, ``make_full_closure``,
  ``repair``.

Stories and worlds
- ``public_story``: the Pinghu Park bridge story of the public pages (``build_story``,
  ``SECRETS``, ``READ_AT``).
- ``hostile``: the hostile-input payloads, the text columns that hold them (``COVERED``) and
  the story that writes them.
- ``permission_world`` and ``permission_matrix``: the records the staff routes act on, and
  ``MATRIX``/``PUBLIC``, who may call each route.
- ``service_machine``: the base of the stateful lifecycle tests (hypothesis).

Processes
- ``processes``: ``python -m scheduler`` replicas, their logs and the leader lock; the
  PostgreSQL cluster (for the scheduler, fail-over, fault and restart tests).
- ``browser``: a real ``facilities serve`` and Playwright pages in the system Chromium;
  ``tests.kit.browser:prepare`` runs in a subprocess.
"""

"""The asset register: sites (parks, plazas), assets (bridges, boardwalks, playgrounds ...) and
their components in a tree (main cable, hangers, deck planks ...).

Every inspection, repair ticket and closure hangs off an asset. An asset's operational status is
never typed in: it is derived from its active closures (closures issue); its condition grade comes
from the last final inspection. Codes follow the bureau's scheme, e.g. GX-QL-PH-001.
"""

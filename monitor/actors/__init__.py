"""Who sells it: sellers and contacts as entities of their own, the links between sellers
(a shared contact, a near-duplicate offer, a payment address) and actors, the groups those
links connect.

`identities` reads what a listing version names (pure functions), `linking` writes it into
the store as a sweep ingests the version (and raises `actor_seen` alerts for watches),
`backfill` does the same for versions stored before, and `profile` assembles an actor for its
page (monitor/web/actor.py, its link graph in monitor/web/actor_graph.py), the command line
and exports.
"""

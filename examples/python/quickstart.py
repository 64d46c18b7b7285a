"""Quickstart: an in-process Brain from Python, with the hosted SDK's drop-in class.

Run: python examples/python/quickstart.py   (after `pip install ./python`)
"""
import brain

engine = brain.Engine.in_memory()
engine.create_tenant("acme", "Acme Parties")
engine.marketplace_apply("acme", "party_supplies")
api_key = engine.issue_key("acme", "Python backend")["api_key"]

# The hosted SDK's signature and return value, running in-process.
client = brain.Brain(api_key=api_key, engine=engine)
result = client.respond(channel="web", channel_user_id="user-abc", message_text="I need party supplies for 12 kids")
print(result["response"])
print(result["metadata"]["tools_called"])
assert result["metadata"]["tools_called"] == ["commerce.recommend_products"]

try:
    client.respond(channel="fax", channel_user_id="user-abc", message_text="hi")
except brain.BrainBadRequestError as e:
    print(f"{e.status} {e.code}: {e} (request {e.request_id})")

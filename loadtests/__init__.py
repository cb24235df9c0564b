"""Load generation for the support-chatbot lab.

- ``workload``: the seeded customer-message corpus (stdlib only, Python 3.9-compatible).
- ``openloop``: the fixed-arrival-rate driver (aiohttp + HdrHistogram), no coordinated omission.
- ``shapes``: pure load-shape functions used by the locustfile.
- ``locustfile``: Locust user classes. Only Locust itself imports it: importing ``locust``
  monkey-patches the process with gevent, so no other module here imports it.
"""

"""The agent: gitward as a long-running deployment process.

It is configured with only the repository, a ref and its store (`config`);
apps, targets and policies come from each fetched commit. One scheduler
thread (`scheduler`) fetches the source on its interval or when a webhook
says so, works out which apps a new revision touches, and hands operations
to per-app workers that never run two operations of one app at once
(`queue`). Each operation goes through the engine like a CLI sync; drift
checks are dry runs on each app's interval, healed when the app asks for it.
The HTTP surface (`http`) serves health, readiness, Prometheus metrics, the
apps' status and the webhooks; `notify` tells people what changed.
"""

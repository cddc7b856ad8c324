"""What every component's Temporal activities stand on: the worker's process-wide resources and the heartbeat helper.

Below the components whose activities use it, above the platform; the workflows and the worker that registers
the activities sit at the top (docs/architecture.md)."""

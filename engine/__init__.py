"""The conversation engine: Router, Dispatcher, Context, Services and the delivery of
replies through the outbox. Built on storage/ and kernel/, imported by the layers above."""

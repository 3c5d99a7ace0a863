"""``ts.torch_handler``: TorchServe's default handlers, implemented without torchvision."""

"""Request and response models: XCreate for what a client sends, XPublic for answers."""

"""Training half of chi-lite: learns the multitask χ ensemble and exports it to ONNX."""

"""Step 2 of the flow: collectors say what each scope used in a period."""

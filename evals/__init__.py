"""The eval suite: measures rag/ from outside — retrieval, answers, citations, refusals, latency."""

"""httprouter.ops"""

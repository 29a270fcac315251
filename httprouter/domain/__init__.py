"""httprouter.domain"""

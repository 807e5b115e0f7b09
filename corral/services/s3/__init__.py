"""The embedded S3: buckets and object metadata in the store, object bodies under ``DIR/s3/objects``.

``service.S3Service`` owns both (the rules engine calls ``put_object``); ``http.S3API`` is the REST front
(path-style and virtual-host-style addressing, SigV4 with streamed bodies, S3's XML errors).
"""

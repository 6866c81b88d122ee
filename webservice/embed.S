/* The OpenAPI document, embedded so that the binary serves the file it was built with. */
    .section .rodata
    .global vic_openapi_json
    .type vic_openapi_json, @object
    .balign 16
vic_openapi_json:
    .incbin "webservice/openapi.json"
    .byte 0
    .size vic_openapi_json, . - vic_openapi_json
    .section .note.GNU-stack,"",@progbits

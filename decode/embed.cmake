# embed.cmake - cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -P embed.cmake: FILE's bytes as a C array NAME (with a
# final NUL) and its length NAME_len, so a program carries the file without reading it at run time.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* generated from ${IN} by embed.cmake */\nconst unsigned char ${NAME}[] = {${bytes}0x00};\n"
                    "const unsigned long ${NAME}_len = sizeof ${NAME} - 1;\n")

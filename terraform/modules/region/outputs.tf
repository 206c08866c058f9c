output "proxy_private_ips" {
  value = aws_instance.proxy[*].private_ip
}

output "voter_private_ips" {
  value = aws_instance.voter[*].private_ip
}

output "etcd_client_urls" {
  value = [for i in aws_instance.etcd : "https://${i.private_ip}:2379"]
}

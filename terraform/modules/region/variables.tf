variable "region" {
  description = "This region: votecluster name, AWS region, subnet and image."
  type = object({
    name       = string
    aws_region = string
    subnet_id  = string
    ami_id     = string
  })
}

variable "voters" {
  type        = number
  description = "Voter instances in this region."
}

variable "proxies" {
  type        = number
  description = "Node proxy instances in this region."
}

variable "etcd_members" {
  type        = number
  description = "etcd members placed in this region."
}

variable "instance_type" {
  type = string
}

variable "etcd_instance_type" {
  type = string
}

variable "allowed_cidrs" {
  type = list(string)
}

variable "tags" {
  type    = map(string)
  default = {}
}
